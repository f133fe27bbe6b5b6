"""``depth-completion replay BAG``: publish a bag through rclpy with its original timing.

With ROS 2 installed, ``ros2 bag play BAG --rate F --loop --start-offset S --remap FROM:=TO``
does the same.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", metavar="BAG", help="rosbag2 folder (or .mcap / .db3 file)")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor (default 1.0)")
    parser.add_argument("--loop", action="store_true", help="start again after the end")
    parser.add_argument("--start-offset", type=float, default=0.0, metavar="S",
                        help="skip the first S seconds of the bag")
    parser.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO",
                        help="publish bag topic FROM on topic TO")
    parser.add_argument("--topics", nargs="+", default=[], help="only these bag topics")


def run(args: argparse.Namespace) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from depth_completion_ros.bag.schedule import ReplayOptions, parse_remaps
    from depth_completion_ros.ros.replay import BagPlayer

    options = ReplayOptions(rate=args.rate, loop=args.loop, start_offset_s=args.start_offset,
                            remap=parse_remaps(args.remap))
    rclpy.init()
    try:
        node = rclpy.create_node("depth_completion_replay")
        player = BagPlayer(node, args.bag, options, tuple(args.topics))
        for topic, reason in player.stats.skipped_topics.items():
            print(f"not published: {topic} ({reason})")
        stats = player.play()
        print(f"published {sum(stats.published.values())} messages in {stats.passes} pass(es): "
              + ", ".join(f"{t} {n}" for t, n in stats.published.items()))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()
    return 0

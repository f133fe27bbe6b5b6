"""``depth-completion replay BAG``: publish a bag through rclpy with its original timing.

With ROS 2 installed, ``ros2 bag play BAG --rate F --loop --start-offset S --remap FROM:=TO``
does the same.

SIGINT (Ctrl-C) and SIGTERM stop the replay the same way: the player finishes the message in
hand, the summary is printed, the context is shut down, exit status 0. rclpy's own handlers are
not installed: they shut the context down under the publishing thread (``publisher's context is
invalid``).
"""
from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Signals that stop a replay, exit status 0 (stopping is how a ``--loop`` replay ends).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", metavar="BAG",
                        help="rosbag2 folder (or .mcap / .db3 file), or a ROS 1 .bag file")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor (default 1.0)")
    parser.add_argument("--loop", action="store_true", help="start again after the end")
    parser.add_argument("--start-offset", type=float, default=0.0, metavar="S",
                        help="skip the first S seconds of the bag")
    parser.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO",
                        help="publish bag topic FROM on topic TO")
    parser.add_argument("--topics", nargs="+", default=[], help="only these bag topics")


@contextmanager
def stop_on_signals(stop: threading.Event, received: list[str]) -> Iterator[None]:
    """Within the block, :data:`STOP_SIGNALS` set ``stop`` and append their name to ``received``
    (instead of raising KeyboardInterrupt / terminating); the previous handlers come back after."""
    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    """Replay until the bag (or the last loop) ends or a stop signal; returns 0."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from depth_completion_ros.bag.schedule import ReplayOptions, parse_remaps
    from depth_completion_ros.bag.topics import TF_STATIC_TOPIC
    from depth_completion_ros.ros.replay import BagPlayer

    options = ReplayOptions(rate=args.rate, loop=args.loop, start_offset_s=args.start_offset,
                            remap=parse_remaps(args.remap))
    stop = threading.Event()
    received: list[str] = []  # names of the signals that stopped it
    with stop_on_signals(stop, received):
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = rclpy.create_node("depth_completion_replay")
            player = BagPlayer(node, args.bag, options, tuple(args.topics))
            for topic, reason in player.stats.skipped_topics.items():
                print(f"not published: {topic} ({reason})")
                if topic == TF_STATIC_TOPIC:
                    print(f"  give the node its lidar_to_camera parameter instead: "
                          f"depth-completion calib {args.bag} prints it ready to paste")
            stats = player.play(stop)
            print(f"published {sum(stats.published.values())} messages in {stats.passes} "
                  "pass(es): " + ", ".join(f"{t} {n}" for t, n in stats.published.items())
                  + (f" (stopped by {received[0]})" if received else ""))
            for topic, count in stats.skipped_messages.items():
                print(f"not published: {count} message(s) of {topic} (ROS 1 -> ROS 2 "
                      "conversion failed)")
            node.destroy_node()
        finally:
            rclpy.try_shutdown()
    return 0

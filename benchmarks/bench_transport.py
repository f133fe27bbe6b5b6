"""Delivery of camera-sized images between two processes, with and without the SHM profile.

Publishes 1242x375 rgb8 images (the KITTI camera size) at 10 Hz with the sensor-data QoS (best
effort) from one process to another over loopback, and prints the percentage delivered with the
package's Fast DDS profile (config/fastdds_shm.xml) and with the default transports. Both runs
are in the same invocation on the same machine, so they compare directly.

    .venv/bin/python benchmarks/bench_transport.py [--frames 30]

Roles ``pub`` / ``sub`` are the two child processes (internal).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "config" / "fastdds_shm.xml"
WIDTH, HEIGHT, RATE_HZ = 1242, 375, 10.0


def child_env(profile: bool, domain: int) -> dict[str, str]:
    """Environment of a child: own domain, loopback discovery, profile on or off."""
    env = {k: v for k, v in os.environ.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               RMW_IMPLEMENTATION="rmw_fastrtps_cpp")
    if profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    return env


def run_publisher(frames: int) -> None:
    """Wait for a subscriber, then publish ``frames`` images at 10 Hz (sensor-data QoS)."""
    import numpy as np
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node("bench_transport_pub")
    pub = node.create_publisher(Image, "bench_image", qos_profile_sensor_data)
    end = time.monotonic() + 10.0
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.5)  # let discovery of the reader's locators settle
    data = np.random.default_rng(0).integers(0, 255, HEIGHT * WIDTH * 3, np.uint8).tobytes()
    for i in range(frames):
        msg = Image(height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=data)
        msg.header.frame_id = str(i)
        pub.publish(msg)
        time.sleep(1.0 / RATE_HZ)
    time.sleep(0.5)
    node.destroy_node()
    rclpy.shutdown()


def run_subscriber(seconds: float) -> None:
    """Count images for ``seconds`` after the first one (or the timeout); print the count."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node("bench_transport_sub")
    got: set[str] = set()
    node.create_subscription(Image, "bench_image", lambda m: got.add(m.header.frame_id),
                             qos_profile_sensor_data)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(len(got), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def measure(profile: bool, frames: int, domain: int) -> float:
    """Delivered percentage of ``frames`` images between two fresh processes."""
    env = child_env(profile, domain)
    me = [sys.executable, str(Path(__file__).resolve())]
    sub = subprocess.Popen([*me, "--role", "sub", "--seconds", str(frames / RATE_HZ + 13)],
                           env=env, stdout=subprocess.PIPE, text=True)
    subprocess.run([*me, "--role", "pub", "--frames", str(frames)], env=env, timeout=60,
                   check=True)
    out, _ = sub.communicate(timeout=60)
    return 100.0 * int(out.strip().splitlines()[-1]) / frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "pub", "sub"], default="bench")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.role == "pub":
        run_publisher(args.frames)
        return 0
    if args.role == "sub":
        run_subscriber(args.seconds)
        return 0
    domain = os.getpid() % 100 + 100
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"{args.frames} x {WIDTH}x{HEIGHT} rgb8 at {RATE_HZ:.0f} Hz, sensor-data QoS, loopback")
    for label, profile in (("default transports", False), ("fastdds_shm.xml", True)):
        print(f"  {label:20s} delivered {measure(profile, args.frames, domain):5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ament_python / pip packaging of depth_completion_ros.

The same file serves `colcon build` on a ROS 2 install and `pip install -e .` in the plain venv
that `make demo` / `make test` build. Runtime dependencies are declared in package.xml (rosdep)
and pinned for the venv in requirements-venv.txt, not in install_requires, so that a colcon build
never pulls ROS wheels into the system Python.
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "depth_completion_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
        (f"share/{PACKAGE}/config/models", glob("config/models/*.yaml")),
        (f"share/{PACKAGE}/models", glob("models/*.md") + glob("models/*.pt")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="depth_completion_ros maintainers",
    maintainer_email="maintainers@depth-completion-ros.invalid",
    description="Camera + LiDAR depth completion for ROS 2: dense metric depth with confidence.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "depth-completion = depth_completion_ros.cli.main:main",
            "depth_completion_node = depth_completion_ros.ros.node:main",
        ],
    },
)

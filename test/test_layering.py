"""The house rules of the layout (docs/ARCHITECTURE.md), checked so that they can fail.

* The core (everything outside ``ros/`` and ``cli/``) never needs ROS: every core module imports
  in a fresh interpreter where rclpy and every ROS message package are unimportable.
* The ROS layer holds only ROS: every module inside ``ros/`` fails to import there.
* No module outside ``ros/`` and ``cli/`` imports from ``depth_completion_ros.ros``, not even
  lazily inside a function.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import depth_completion_ros

PACKAGE = Path(depth_completion_ros.__file__).parent
#: top-level names a ROS installation provides (rclpy, its messages, the optional packages)
ROS_MODULES = ("rclpy", "rcl_interfaces", "rosidl_runtime_py", "rosidl_parser", "rpyutils",
               "builtin_interfaces", "std_msgs", "sensor_msgs", "diagnostic_msgs", "nav_msgs",
               "geometry_msgs", "tf2_msgs", "tf2_ros", "cv_bridge", "message_filters",
               "sensor_msgs_py", "launch", "launch_ros")

_BLOCKER = """
import importlib, importlib.abc, json, sys
BLOCKED = set({blocked!r})
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED or name.split('.')[0].endswith('_msgs'):
            raise ImportError('ROS blocked for this test: ' + name)
        return None
sys.meta_path.insert(0, Blocker())
result = {{}}
for name in {modules!r}:
    try:
        importlib.import_module(name)
        result[name] = None
    except ImportError as err:
        result[name] = str(err)
print(json.dumps(result))
"""


def _modules(where: str) -> list[str]:
    """Dotted names of the package's modules, 'core' (outside ros/ and cli/) or 'ros'."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        in_ros = len(parts) > 1 and parts[1] == "ros"
        in_cli = len(parts) > 1 and parts[1] == "cli"
        if (where == "ros" and in_ros and len(parts) > 2) or \
                (where == "core" and not in_ros and not in_cli):
            names.append(".".join(parts))
    return names


def _import_without_ros(modules: list[str]) -> dict[str, str | None]:
    code = _BLOCKER.format(blocked=ROS_MODULES, modules=modules)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_module_lists_are_not_empty():
    assert "depth_completion_ros.pipeline" in _modules("core")
    assert "depth_completion_ros.ros.node" in _modules("ros")


def test_every_core_module_imports_without_ros():
    failed = {k: v for k, v in _import_without_ros(_modules("core")).items() if v}
    assert failed == {}


def test_every_ros_module_needs_ros():
    result = _import_without_ros(_modules("ros"))
    assert [name for name, err in result.items() if err is None] == []


def test_no_core_module_imports_the_ros_layer():
    offenders = []
    for name in _modules("core"):
        path = PACKAGE.parent / Path(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            targets = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module == "depth_completion_ros":
                targets += [f"depth_completion_ros.{a.name}" for a in node.names]
            offenders += [f"{name}: {t}" for t in targets
                          if t == "depth_completion_ros.ros" or
                          t.startswith("depth_completion_ros.ros.")]
    assert offenders == []

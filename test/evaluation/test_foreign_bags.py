"""``evaluate`` on bags our converter did not write: a driver-style bag and KITTI ground truth.

The driver bag is written with rosbags from the embedded KITTI sample (Geiger et al., IJRR 2013,
CC BY-NC-SA 3.0): other topic names, a bgr8 camera, a plumb_bob camera info whose ``P`` carries
KITTI's camera offset, a Velodyne-driver cloud layout (x, y, z, intensity float32, ring uint16,
time float32, 32-byte padded points, stored column after column), no ``/tf_static``, sqlite3
storage, LiDAR stamps 30 ms before the camera's and one cloud missing.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from depth_completion_ros.bag.messages import TYPESTORE, header
from depth_completion_ros.cli.main import main
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.scoring import frame_rings
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.io.kitti_raw import KittiFrame, open_sequence

T = TYPESTORE.types
IMAGE, INFO, POINTS = "/cam_front/image_color", "/cam_front/camera_info", "/velodyne_points"
TOPICS = ["--image-topic", IMAGE, "--camera-info-topic", INFO, "--points-topic", POINTS]
#: First camera stamp (ns): a KITTI drive's, 2011-09-26.
START_NS = 1_317_042_504_967_930_880
DRIVER_DTYPE = np.dtype({"names": ["x", "y", "z", "intensity", "ring", "time"],
                         "formats": ["<f4", "<f4", "<f4", "<f4", "<u2", "<f4"],
                         "offsets": [0, 4, 8, 16, 20, 24], "itemsize": 32})


def _driver_cloud(frame: KittiFrame, stamp_ns: int):
    """PointCloud2 laid out like a Velodyne driver's, points column after column (by azimuth)."""
    rings = estimate_rings(frame.points)
    azimuth = np.arctan2(frame.points[:, 1], frame.points[:, 0])
    column = np.floor((azimuth + np.pi) / (2 * np.pi) * 2000).astype(np.int64)
    order = np.lexsort((rings, column))
    record = np.zeros(len(order), DRIVER_DTYPE)
    for i, name in enumerate(("x", "y", "z", "intensity")):
        record[name] = frame.points[order, i]
    record["ring"], record["time"] = rings[order], column[order] * 5e-5
    field = T["sensor_msgs/msg/PointField"]
    fields = [field(name=n, offset=o, datatype=t, count=1) for n, o, t in
              (("x", 0, 7), ("y", 4, 7), ("z", 8, 7), ("intensity", 16, 7), ("ring", 20, 4),
               ("time", 24, 7))]
    return T["sensor_msgs/msg/PointCloud2"](
        header=header(stamp_ns, "velodyne"), height=1, width=len(record), fields=fields,
        is_bigendian=False, point_step=32, row_step=32 * len(record),
        data=record.view(np.uint8), is_dense=True)


def _camera_messages(frame: KittiFrame, stamp_ns: int) -> tuple:
    """bgr8 Image and a plumb_bob CameraInfo with KITTI's P_rect_02 (P[:, 3] non-zero)."""
    bgr = np.ascontiguousarray(frame.image[:, :, ::-1])
    height, width = bgr.shape[:2]
    image = T["sensor_msgs/msg/Image"](
        header=header(stamp_ns, "cam_front_optical"), height=height, width=width,
        encoding="bgr8", is_bigendian=0, step=width * 3, data=bgr.reshape(-1))
    P = frame.calibration.P_rect[2]
    roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                do_rectify=False)
    info = T["sensor_msgs/msg/CameraInfo"](
        header=header(stamp_ns, "cam_front_optical"), height=height, width=width,
        distortion_model="plumb_bob", d=np.array([-0.37, 0.2, 0.0, 0.0, 0.0]),
        k=P[:, :3].reshape(-1).copy(), r=np.eye(3).reshape(-1), p=P.reshape(-1).copy(),
        binning_x=0, binning_y=0, roi=roi)
    return image, info


def write_driver_bag(sample_dir: Path, out: Path, *, drop: tuple[int, ...] = (),
                     stamp_error_ns: int = 0) -> list[int]:
    """Write the driver-style bag; returns the true camera stamps (ns) of its frames.

    Args:
        drop: positions whose cloud is not recorded.
        stamp_error_ns: added to every stored camera stamp (float-seconds round-off).
    """
    stamps = []
    with Writer(out, version=8, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conns = [writer.add_connection(topic, msgtype, typestore=TYPESTORE) for topic, msgtype in
                 ((IMAGE, "sensor_msgs/msg/Image"), (INFO, "sensor_msgs/msg/CameraInfo"),
                  (POINTS, "sensor_msgs/msg/PointCloud2"))]
        for position, frame in enumerate(open_sequence(sample_dir)):
            stamp = START_NS + position * 100_000_000
            stamps.append(stamp)
            for conn, msg in zip(conns, _camera_messages(frame, stamp + stamp_error_ns)):
                writer.write(conn, stamp + 5_000_000, TYPESTORE.serialize_cdr(msg, msg.__msgtype__))
            if position not in drop:
                cloud = _driver_cloud(frame, stamp - 30_000_000)
                writer.write(conns[2], stamp + 10_000_000,
                             TYPESTORE.serialize_cdr(cloud, cloud.__msgtype__))
    return stamps


def _matrix_args(sample_dir: Path) -> list[str]:
    matrix = next(iter(open_sequence(sample_dir))).calibration.lidar_to_camera()
    return ["--lidar-to-camera", *(repr(float(v)) for v in matrix.reshape(-1))]


@pytest.fixture(scope="module")
def driver_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    bag = tmp_path_factory.mktemp("driver") / "bag"
    write_driver_bag(sample_dir, bag, drop=(2,))
    return bag


def _evaluate(bag: Path, out: Path, *extra: str) -> int:
    return main(["evaluate", str(bag), "--model", "nearest", "--report", str(out), *extra])


def test_driver_bag_heldout_with_ring_field(driver_bag: Path, sample_bag: Path, sample_dir: Path,
                                            tmp_path: Path) -> None:
    """Scores frames 0, 1, 3 (2 has no cloud: skipped and counted) like the converter's bag of
    the same frames: same points in another order and layout, same transform in the other P
    convention."""
    assert _evaluate(driver_bag, tmp_path / "driver", "--heldout-beams", "--rings", "field",
                     "--lines", "32", *TOPICS, *_matrix_args(sample_dir)) == 0
    assert _evaluate(sample_bag, tmp_path / "ours", "--heldout-beams", "--rings", "field",
                     "--lines", "32") == 0
    driver = json.loads((tmp_path / "driver" / "metrics.json").read_text())
    ours = json.loads((tmp_path / "ours" / "metrics.json").read_text())
    summary = driver["by_lines"][0]
    assert summary["frames_scored"] == 3 and summary["frames_skipped"] == {"no cloud paired": 1}
    assert [f["status"] for f in driver["frames"]] == ["scored", "scored", "no cloud paired",
                                                      "scored"]
    expected = {f["frame"]: f["metrics"] for f in ours["frames"]}
    for row in driver["frames"]:
        if row["status"] == "scored":
            np.testing.assert_allclose(row["metrics"]["rmse"], expected[row["frame"]]["rmse"],
                                       rtol=1e-3)
            np.testing.assert_allclose(row["metrics"]["mae"], expected[row["frame"]]["mae"],
                                       rtol=1e-3)
    report = (tmp_path / "driver" / "report.md").read_text()
    assert "1 no cloud paired" in report
    # a bag without the converter's metadata: nothing is claimed about its source or license
    assert "source and license unknown" in report and "CC BY-NC-SA" not in report


def test_estimated_rings_on_a_driver_cloud_are_refused_per_frame(
        driver_bag: Path, sample_dir: Path, tmp_path: Path) -> None:
    """Column-ordered points give one estimated ring: every frame used to be reported 'no
    ground truth' (held-out) or scored with all 64 lines as '32' (--gt); then the whole run
    ended in an error; now each frame is skipped with the reason and the run goes on."""
    assert _evaluate(driver_bag, tmp_path, "--heldout-beams", "--lines", "32", "--rings",
                     "estimate", *TOPICS, *_matrix_args(sample_dir)) == 0
    document = json.loads((tmp_path / "metrics.json").read_text())
    assert [f["status"] for f in document["frames"]] == ["rings refused", "rings refused",
                                                        "no cloud paired", "rings refused"]
    assert "found 1 rings" in document["frames"][0]["reason"]
    assert document["by_lines"][0]["frames_skipped"] == {"rings refused": 3,
                                                         "no cloud paired": 1}
    assert "## Rings refused" in (tmp_path / "report.md").read_text()


def test_frame_rings_rejects_a_cloud_not_in_scan_order() -> None:
    azimuth = np.linspace(-np.pi, np.pi, 640, endpoint=False)
    column_order = np.column_stack([10 * np.cos(azimuth), 10 * np.sin(azimuth),
                                    np.zeros_like(azimuth)]).astype(np.float32)
    with pytest.raises(InputError, match="use --rings field"):
        frame_rings(column_order, None, "estimate")
    scan_order = np.tile(column_order, (64, 1))
    assert frame_rings(scan_order, None, "estimate").max() == 63


@pytest.mark.parametrize("args, message", [
    (TOPICS, "has no /tf_static: pass --lidar-to-camera or --calib"),
    (["--image-topic", "/camera/image_raw"], f"has no topic /camera/image_raw; it has: {INFO}, "
                                             f"{IMAGE}, {POINTS}"),
])
def test_driver_bag_errors_name_the_fix(driver_bag: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture, args: list[str],
                                        message: str) -> None:
    assert _evaluate(driver_bag, tmp_path, "--heldout-beams", *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "bag not found"),
    (lambda p: (p.mkdir(), p)[1], "cannot open bag"),
    (lambda p: (p.with_suffix(".mcap").write_bytes(b""), p.with_suffix(".mcap"))[1],
     "seems to be empty"),
])
def test_missing_or_empty_bag_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture,
                                          make, message: str) -> None:
    bag = make(tmp_path / "bag")
    identity = [str(float(v)) for v in np.eye(4).reshape(-1)]
    assert _evaluate(bag, tmp_path / "out", "--heldout-beams", "--lidar-to-camera",
                     *identity) == 2
    assert message in capsys.readouterr().err


def test_malformed_lidar_to_camera_is_a_usage_error(driver_bag: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _evaluate(driver_bag, tmp_path, "--heldout-beams", "--lidar-to-camera", *["1"] * 15)
    assert exit_info.value.code == 2


def _write_gt(sample_dir: Path, folder: Path, numbers: list[int | None]) -> None:
    """Full-LiDAR ground truth of sample frame i as ``numbers[i]``.png (None: no PNG)."""
    for frame, number in zip(open_sequence(sample_dir), numbers):
        if number is not None:
            camera = frame.calibration.camera(2, frame.image.shape[1], frame.image.shape[0])
            depth = project_to_depth(frame.points, frame.calibration.lidar_to_camera(), camera)
            write_depth_png(folder / "proj_depth" / "groundtruth" / "image_02" /
                            f"{number:010d}.png", depth)


def test_gt_matched_by_stamp_despite_float_second_round_off(sample_dir: Path,
                                                            tmp_path: Path) -> None:
    """Stamps 357 ns off timestamps.txt (kitti2bag's float seconds) still match; the bag starts
    at drive frame 5, so matching by position would find frames 0-3, which have no PNG."""
    stamps = write_driver_bag(sample_dir, tmp_path / "bag", stamp_error_ns=-357)
    lines = [START_NS - 100_000_000 * k for k in range(5, 0, -1)] + stamps
    timestamps = tmp_path / "timestamps.txt"
    timestamps.write_text("".join(
        f"{np.datetime64(s, 'ns').astype(str).replace('T', ' ')}\n" for s in lines))
    _write_gt(sample_dir, tmp_path / "gt", [5, 6, 7, None])
    assert _evaluate(tmp_path / "bag", tmp_path / "out", "--gt", str(tmp_path / "gt"),
                     "--gt-timestamps", str(timestamps), "--lines", "64", *TOPICS,
                     *_matrix_args(sample_dir)) == 0
    document = json.loads((tmp_path / "out" / "metrics.json").read_text())
    summary = document["by_lines"][0]
    assert summary["frames_scored"] == 3 and summary["frames_skipped"] == {"no ground truth": 1}
    assert document["mae"] < 5.0  # nearest on the full LiDAR against its own projection


def test_gt_of_another_size_is_an_error(sample_bag: Path, sample_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    """A 1216x352 (cropped) ground truth used to be scored against the image's top-left corner."""
    _write_gt(sample_dir, tmp_path / "full", [0, 1, 2, 3])
    cropped = tmp_path / "cropped" / "proj_depth" / "groundtruth" / "image_02"
    cropped.mkdir(parents=True)
    for png in (tmp_path / "full" / "proj_depth" / "groundtruth" / "image_02").glob("*.png"):
        depth = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        height, width = depth.shape
        x0 = (width - 1216) // 2
        cv2.imwrite(str(cropped / png.name), depth[height - 352:, x0:x0 + 1216])
    assert _evaluate(sample_bag, tmp_path / "out", "--gt", str(tmp_path / "cropped"),
                     "--lines", "64") == 2
    err = capsys.readouterr().err
    assert f"ground truth is 1216x352 but bag image 0 is {width}x{height}" in err


"""Topic names and frame ids of the bags ``depth-completion convert`` writes.

The same names are the defaults of ``depth-completion evaluate``; bags recorded elsewhere pass
their own through ``--image-topic`` / ``--camera-info-topic`` / ``--points-topic``.
"""
from __future__ import annotations

from dataclasses import dataclass

from depth_completion_ros.errors import InputError

#: KITTI colour cameras: index -> side used in topic and frame names.
_CAMERA_SIDES = {2: "left", 3: "right"}
LIDAR_FRAME = "velo_link"
TF_STATIC_TOPIC = "/tf_static"
#: Key of the bag's custom metadata (metadata.yaml ``custom_data``) saying where stamps came from.
STAMPS_KEY = "depth_completion_ros.stamps"
#: Key of the bag's custom metadata naming the source frames (KITTI frame index per image).
SOURCE_KEY = "depth_completion_ros.source"
#: image_transport's name of the compressed transport (topic suffix, node parameter value)
COMPRESSED = "compressed"


@dataclass(frozen=True)
class BagTopics:
    """Topics of one camera + LiDAR rig inside a bag.

    Attributes:
        image: sensor_msgs/Image topic.
        camera_info: sensor_msgs/CameraInfo topic.
        points: sensor_msgs/PointCloud2 topic.
        tf_static: tf2_msgs/TFMessage topic with the LiDAR -> camera transform.
    """

    image: str
    camera_info: str
    points: str
    tf_static: str = TF_STATIC_TOPIC


def kitti_topics(camera: int = 2) -> BagTopics:
    """Topics for KITTI colour camera ``camera`` (2 = left, 3 = right) and the Velodyne."""
    base = f"/kitti/camera_color_{_side(camera)}"
    return BagTopics(image=f"{base}/image_raw", camera_info=f"{base}/camera_info",
                     points="/kitti/velo/pointcloud")


def camera_frame(camera: int = 2) -> str:
    """Optical frame id of KITTI colour camera ``camera`` (x right, y down, z forward)."""
    return f"camera_color_{_side(camera)}_optical"


def _side(camera: int) -> str:
    if camera not in _CAMERA_SIDES:
        raise InputError(f"KITTI colour camera must be 2 or 3, got {camera!r}")
    return _CAMERA_SIDES[camera]


def compressed_topic(image_topic: str) -> str:
    """The topic of ``image_topic``'s compressed images (image_transport's ``<image>/compressed``).

    >>> compressed_topic("/kitti/camera_color_left/image_raw")
    '/kitti/camera_color_left/image_raw/compressed'
    """
    return f"{image_topic.rstrip('/')}/{COMPRESSED}"


def transport_base(topic: str) -> str:
    """The base image topic of a compressed topic (the name a node's ``image`` is remapped to,
    image_transport then subscribing to ``<base>/compressed``); a name without the suffix is its
    own base.

    >>> transport_base("/cam/image_raw/compressed"), transport_base("/cam/jpeg")
    ('/cam/image_raw', '/cam/jpeg')
    """
    suffix = f"/{COMPRESSED}"
    return topic[:-len(suffix)] if topic.endswith(suffix) and len(topic) > len(suffix) else topic

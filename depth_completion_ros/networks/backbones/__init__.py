"""Feature extractors: ResNet stages (:mod:`.resnet`) and the encoder-decoder with mirror
connections built on them (:mod:`.resnet_encdec`)."""
from __future__ import annotations

from depth_completion_ros.networks.backbones.resnet import BasicBlock, resnet_stage
from depth_completion_ros.networks.backbones.resnet_encdec import (
    EncoderDecoderFeatures,
    ResNetEncoderDecoder,
)

__all__ = ["BasicBlock", "EncoderDecoderFeatures", "ResNetEncoderDecoder", "resnet_stage"]

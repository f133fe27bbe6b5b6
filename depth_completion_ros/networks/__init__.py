"""Learned networks as plain PyTorch modules, one folder per role.

``backbones/`` (feature extractors: the ResNet encoder-decoder with mirror connections),
``heads/`` (what turns decoder features into a map: initial depth, guidance, confidence),
``propagation/`` (each spatial-propagation model's refinement layer and the sampling it uses),
``losses/`` (training objectives) and, at this level, the assembled networks (``nlspn.py``).
Networks take and return tensors only: no numpy, no camera object, no file access. The
registry-facing model files (:mod:`depth_completion_ros.models`) build them, load their weights
and wrap them for inference (:mod:`depth_completion_ros.engine`).
"""

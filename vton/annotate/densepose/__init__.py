"""DensePose part maps (`image-densepose/ID.jpg`), one module per backend:

- `mediapipe` (`vton.annotate.densepose.approximate`, the offline default): an
  APPROXIMATION of DensePose's 24-part body map from MediaPipe Pose landmarks and its
  person silhouette (the shapes it scores against: `vton.annotate.densepose.geometry`);
- `detectron2` (`vton.annotate.densepose.detectron2`): the real DensePose R50-FPN through
  detectron2's DensePose project, where the user has installed it.

Nothing here imports a backend, so one backend's code digest (`vton.codegraph`) does not
cover the other.
"""

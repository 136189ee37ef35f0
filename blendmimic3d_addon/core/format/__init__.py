"""Files on disk: dataset and camera I/O, paths, manifest, safe npz, atomic writes, shards,
predictions, VideoPose3D."""

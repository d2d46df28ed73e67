"""What tests and benches share: signals, scenes, the audio rig's scenarios. bench/ imports from here;
tests never import bench/ (tests/test_import_cycles.py checks both)."""

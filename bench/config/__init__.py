"""The vocabulary both layers speak, without TensorFlow: accumulation plans, the configurations
of a measured run, an equivalence analysis and a calibration, a job, and the built-in names."""

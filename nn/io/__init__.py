"""Files: the hostile-file-safe `.npz` reader (`npz`), state-dict checks and atomic writes
(`state_dict`), and training checkpoints (`checkpoint`: `nn.save_checkpoint`, `nn.load_checkpoint`).
Nothing here ever unpickles."""

import os

# One BLAS thread: the only matrix work is comparing one question with a few thousand (~0.03 ms), and
# OpenBLAS's extra threads spin after each call, taking CPU from the sync and the screen (explain's CPU
# per message: 10.9 ms with them, 6.7 ms without; wall the same). Read when numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

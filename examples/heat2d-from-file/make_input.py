"""Writes initial.h5 next to this script: the letters "S P" of hot metal on a
cold plate, a 2D float64 dataset `temperature` of shape [ny, nx] = [256, 384],
the initial condition that job.ini starts heat2d from."""

from pathlib import Path

import h5py
import numpy as np

NY, NX = 256, 384
y, x = np.mgrid[0:NY, 0:NX] / (NY - 1)  # x runs to 1.5 on a 384-point row
u = np.zeros((NY, NX))
# An "S" from three bars and two posts, and a "P" from a post and a loop.
for y0, y1, x0, x1 in [(0.2, 0.3, 0.2, 0.6), (0.45, 0.55, 0.2, 0.6), (0.7, 0.8, 0.2, 0.6),
                       (0.2, 0.5, 0.2, 0.3), (0.5, 0.8, 0.5, 0.6),
                       (0.2, 0.8, 0.85, 0.95), (0.2, 0.3, 0.85, 1.3), (0.45, 0.55, 0.85, 1.3),
                       (0.2, 0.55, 1.2, 1.3)]:
    u[(y >= y0) & (y <= y1) & (x >= x0) & (x <= x1)] = 100.0

u = u[::-1]  # row 0 is y = 0, at the bottom in ParaView: the letters stand upright there

with h5py.File(Path(__file__).with_name("initial.h5"), "w") as f:
    f["temperature"] = u  # float64, [ny, nx]
print(f"wrote {Path(__file__).with_name('initial.h5')}: temperature f64 [{NY}, {NX}]")

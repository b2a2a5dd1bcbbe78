import itertools

import numpy as np
import pytest

from cost_models.explore.plots import place_labels

pytestmark = pytest.mark.unit


def test_labels_of_crowded_front_points_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = np.array([0.10, 0.101, 0.102, 0.103, 0.5, 0.501, 0.9, 0.9])
    ys = np.array([2.00, 2.001, 1.999, 2.002, 1.5, 1.5, 1.0, 1.0])
    ax.scatter(xs, ys)
    labels = [f"mixpe_w4a8:group_size={g} @ 64x64" for g in range(len(xs))]
    texts = place_labels(ax, xs, ys, labels)
    renderer = fig.canvas.get_renderer()
    for t in texts:
        t.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    assert [t.get_text() for t in texts] == labels
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert len({(round(b.x0), round(b.y0)) for b in boxes}) == len(boxes)  # real, distinct positions
    # the naive placement (every label at the same offset) does overlap on these points
    naive = [ax.annotate(s, (x, y), textcoords="offset points", xytext=(5, 3), fontsize=7)
             for x, y, s in zip(xs, ys, labels, strict=True)]
    for t in naive:
        t.update_positions(renderer)
    naive_boxes = [Text.get_window_extent(t, renderer) for t in naive]
    assert any(a.overlaps(b) for a, b in itertools.combinations(naive_boxes, 2))
    plt.close(fig)

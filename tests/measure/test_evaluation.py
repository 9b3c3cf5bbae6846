"""measure.evaluation's figures: confusion matrix and per-class scores, what confidences are
worth, and digits read more or fewer than written."""

from digitboard.measure.evaluation import confidence_figures, confusion_matrix, more_and_fewer, per_class_scores


def test_confusion_and_scores():
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    scores = per_class_scores(matrix, ["a", "b", "c"])
    assert scores[0] == {"class": "a", "precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert scores[1]["precision"] == 0.5


def test_confidence_figures_count_sure_right_and_shown_unsure():
    figures = confidence_figures(["1", "2", "3", "4"], ["1", "2", "9", ""], [0.95, 0.5, 0.92, 0.0],
                                 sure=0.9, shown_unsure_below=0.6)
    assert figures == {"sure_share": 0.5, "sure_accuracy": 0.5, "unsure_shown": 0.5}
    assert confidence_figures(["1"], ["1"], [0.7], 0.9, 0.6)["sure_accuracy"] is None  # none sure


def test_more_and_fewer_digits_than_written():
    assert more_and_fewer(["1", "7", "4", "5"], ["1", "", "44", "3"]) == (0.25, 0.25)
    assert more_and_fewer(["407", "12"], ["4077", "1"]) == (0.5, 0.5)
    assert more_and_fewer([], []) == (0.0, 0.0)

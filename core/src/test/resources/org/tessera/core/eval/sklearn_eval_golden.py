"""scikit-learn's slide-level metrics for EvaluationGoldenTest.

Usage: sklearn_eval_golden.py IN OUT. IN is JSON: {"cases": [{"id", "probs" (rows of class
probabilities, float32 values written as doubles), "labels", "threshold"}], "tiles": [{"id",
"scores", "mask"}]}. OUT receives, per case id, every metric, the confusion matrix, the curves
(binary), per-class values and the thresholds chosen by Youden's J and by F1; per tile case the
ROC AUC. Undefined values (scikit-learn raising) are NaN. Metrics are computed by scikit-learn's
public functions with their default zero_division; specificity, which scikit-learn lacks, from
its multilabel confusion matrix.
"""
import json
import sys
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             cohen_kappa_score, confusion_matrix, f1_score,
                             multilabel_confusion_matrix, precision_recall_curve,
                             precision_recall_fscore_support, precision_score, recall_score,
                             roc_auc_score, roc_curve)
from sklearn.preprocessing import label_binarize

warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
warnings.filterwarnings("ignore", category=RuntimeWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def defined(f):
    try:
        return float(f())
    except ValueError:
        return float("nan")


def specificities(y, pred, k):
    mcm = multilabel_confusion_matrix(y, pred, labels=list(range(k)))
    tn, fp = mcm[:, 0, 0].astype(float), mcm[:, 0, 1].astype(float)
    return np.divide(tn, tn + fp, out=np.zeros_like(tn), where=(tn + fp) > 0)


def chosen(y, s):
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    fpr, tpr, thr = roc_curve(y, s)
    j = tpr - fpr
    youden = thr[np.flatnonzero(j == j.max())[-1]]
    precision, recall, thr = precision_recall_curve(y, s)
    p, r = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return float(youden), float(thr[np.flatnonzero(f == f.max())[0]])


def case(c):
    P = np.asarray(c["probs"], dtype=np.float64)
    y = np.asarray(c["labels"], dtype=int)
    k = P.shape[1]
    labels = list(range(k))
    out = {}
    if k == 2:
        s = P[:, 1]
        pred = (s >= c["threshold"]).astype(int)
        m = {
            "auc": defined(lambda: roc_auc_score(y, s)),
            "pr_auc": defined(lambda: average_precision_score(y, s)),
            "sensitivity": recall_score(y, pred),
            "specificity": recall_score(y, pred, pos_label=0),
            "precision": precision_score(y, pred),
            "f1": f1_score(y, pred),
        }
        fpr, tpr, thr = roc_curve(y, s)
        out["roc"] = [fpr.tolist(), tpr.tolist(), thr.tolist()]
        precision, recall, thr = precision_recall_curve(y, s)
        out["pr"] = [recall.tolist(), precision.tolist(), thr.tolist()]
        out["youden"], out["max_f1"] = chosen(y, s)
    else:
        pred = P.argmax(axis=1)
        m = {
            "auc": defined(lambda: roc_auc_score(y, P, multi_class="ovr", average="macro")),
            "pr_auc": average_precision_score(label_binarize(y, classes=labels), P,
                                              average="macro"),
            "sensitivity": recall_score(y, pred, labels=labels, average="macro"),
            "specificity": float(np.mean(specificities(y, pred, k))),
            "precision": precision_score(y, pred, labels=labels, average="macro"),
            "f1": f1_score(y, pred, labels=labels, average="macro"),
        }
    m["accuracy"] = accuracy_score(y, pred)
    m["balanced_accuracy"] = balanced_accuracy_score(y, pred)
    m["kappa"] = cohen_kappa_score(y, pred)
    out["metrics"] = {name: float(v) for name, v in m.items()}
    out["confusion"] = confusion_matrix(y, pred, labels=labels).tolist()
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=labels)
    spec = specificities(y, pred, k)
    out["per_class"] = [{
        "auc": defined(lambda: roc_auc_score(y == c, P[:, c])),
        "sensitivity": float(r[c]), "specificity": float(spec[c]), "precision": float(p[c]),
        "f1": float(f[c]), "support": float(support[c])} for c in range(k)]
    return out


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    result = {"cases": {c["id"]: case(c) for c in given["cases"]},
              "tiles": {t["id"]: defined(lambda: roc_auc_score(np.asarray(t["mask"], dtype=bool),
                                                               np.asarray(t["scores"])))
                        for t in given["tiles"]}}
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)


main()

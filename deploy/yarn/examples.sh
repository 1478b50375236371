#!/usr/bin/env bash
# One cohort through the pipeline on YARN, with slides on HDFS. Run from a gateway host that has
# Spark 3.5.9 (SPARK_HOME), the cluster's Hadoop configuration (HADOOP_CONF_DIR) and this checkout
# with the fat jar built (mvn -Pdist -DskipTests package).
#
# Slides on HDFS: OpenSlide reads local files only, so each executor copies a slide it is given to
# --cache-dir (node-local; keyed by path, size and modification time, so a re-run or another stage
# on the same node reuses the copy) and reads it there. Point --cache-dir at a large local disk; the
# default, java.io.tmpdir, is the YARN container's folder and is deleted with the container.
#
# Cluster mode runs the driver in the YARN application master: the right choice for long stages
# started from cron or a CI job (the gateway may disconnect). Client mode keeps the driver and its
# progress output on the gateway: handy for short stages watched by a person.
set -euo pipefail
SUBMIT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/submit"
COHORT=hdfs:///cohorts/cohort-a
RUN=hdfs:///runs/cohort-a
CACHE=/mnt/local/tessera-slide-cache

# Tile: cluster mode, one task per slide (large slides split into tile ranges).
"$SUBMIT" tile --master yarn --deploy-mode cluster --num-executors 8 -- \
  --slides "$COHORT/slides" --out "$RUN/tiles" --mpp 0.5 --store-pixels --cache-dir "$CACHE"

# Embed on GPU nodes: one GPU per executor and task.
"$SUBMIT" --gpus 1 embed --master yarn --deploy-mode cluster --num-executors 4 \
  --queue gpu -- \
  --tiles "$RUN/tiles" --out "$RUN/features" --encoder resnet50-trunc --batch 64

# Train: cluster mode, --workers partitions of bags over as many executors.
"$SUBMIT" train --master yarn --deploy-mode cluster --num-executors 4 -- \
  --features "$RUN/features" --labels "$COHORT/labels.csv" --model gated-abmil --workers 4 \
  --out "$RUN/train"

# Evaluate and report: short and driver-heavy; client mode shows their output here.
"$SUBMIT" evaluate --master yarn --deploy-mode client -- --run "$RUN/train"
"$SUBMIT" report --master yarn --deploy-mode client -- --run "$RUN/train" --cache-dir "$CACHE"

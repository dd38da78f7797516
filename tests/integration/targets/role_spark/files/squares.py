# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny PySpark job for the role_spark target: the sum of the squares of 1..N over 4
partitions, computed by the executors of the cluster it is submitted to, printed as JSON with
the application's id and master so that the target can find the run in the master's list."""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession

n = int(sys.argv[1])
spark = SparkSession.builder.appName("paas-role-spark-squares").getOrCreate()
sc = spark.sparkContext
total = sc.parallelize(range(1, n + 1), 4).map(lambda x: x * x).sum()
print(json.dumps({"sum": total, "app_id": sc.applicationId, "master": sc.master}))
spark.stop()

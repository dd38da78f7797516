# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image, flavor and volume-type matching: INDIGO's rules (spec §4.6), case by case."""

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import matching
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.ranking.helpers import (
    vm,
)


def _image(image_id, name=None, **fields):
    return dict(image_id=image_id, image_name=name, **fields)


def _flavor(name, cpus, ram, disk, gpus=0, **fields):
    return dict(flavor_name=name, num_vcpus=cpus, ram=ram, disk=disk, num_gpus=gpus, **fields)


# --- requirements read from the node ------------------------------------------------------------

def test_image_requirement_reads_the_os_capability():
    node = vm(os={"image": "ubuntu:22.04", "distribution": "ubuntu", "version": 22.04,
                  "gpu_driver": "true", "cuda_support": False, "credential": {"user": "x"},
                  "cuda_min_version": "11.2", "cuDNN_version": None})
    assert matching.image_requirement(node) == {
        "image": "ubuntu:22.04", "distribution": "ubuntu", "version": 22.04,
        "gpu_driver": True, "cuda_support": False, "cuda_min_version": "11.2"}


def test_flavor_requirement_uses_tosca_units_1_gb_is_1000_mb():
    node = vm(host={"num_cpus": 2, "mem_size": "1 GB", "disk_size": "10 GB",
                    "num_gpus": 1, "gpu_vendor": "NVIDIA", "infiniband_support": "false"})
    assert matching.flavor_requirement(node) == {
        "num_cpus": 2, "num_gpus": 1, "mem_size": 1000, "disk_size": 10.0,
        "gpu_vendor": "NVIDIA", "infiniband_support": False}


@pytest.mark.parametrize("mem, mb", [("2048  MB", 2048), ("1 GiB", 1073), ("512MB", 512),
                                     ("1.5 GB", 1500), ("1 TB", 1000000)])
def test_flavor_requirement_reads_sizes_as_tosca_parser_does(mem, mb):
    assert matching.flavor_requirement(vm(host={"mem_size": mem}))["mem_size"] == mb


def test_flavor_requirement_refuses_a_size_it_cannot_read_naming_the_node():
    with pytest.raises(RankingError, match="Node 'vm': mem_size 'lots' is not a size"):
        matching.flavor_requirement(vm(host={"mem_size": "lots"}))
    with pytest.raises(RankingError, match="mem_size '3 parsecs'"):
        matching.flavor_requirement(vm(host={"mem_size": "3 parsecs"}))


# --- images -----------------------------------------------------------------------------------

def test_an_im_uri_is_used_as_it_is():
    wanted = {"image": "ost://cloud.example.org/abc-123", "distribution": "ubuntu"}
    assert matching.match_image(wanted, []) == dict(wanted,
                                                    image_name="ost://cloud.example.org/abc-123")
    for scheme in ("one", "aws", "azr"):
        assert matching.is_im_uri("%s://x" % scheme)
    assert not matching.is_im_uri("docker://ubuntu")
    assert not matching.is_im_uri("OST://upper-case-is-not-im")
    assert not matching.is_im_uri("indigodatacloud/ubuntu-sshd:14.04")


def test_image_name_match_uses_docker_tags():
    images = [_image("a", "ubuntu:20.04"), _image("b", "ubuntu:22.04"), _image("c", "centos")]
    assert matching.match_image({"image": "ubuntu:22.04"}, images)["image_id"] == "b"
    assert matching.match_image({"image": "ubuntu"}, images)["image_id"] == "a"  # any tag
    assert matching.match_image({"image": "centos:7"}, images) is None  # tag must match
    assert matching.match_image({"image": "ubuntu:18.04"}, images) is None


def test_image_name_match_splits_on_every_colon_as_java_does():
    images = [_image("a", "registry:5000/app:1")]
    # Java's split(":") -> base "registry", tag "5000/app": the same split on both sides
    assert matching.match_image({"image": "registry:5000/app:2"}, images)["image_id"] == "a"
    assert matching.match_image({"image": "ubuntu:"}, [_image("u", "ubuntu:x")])["image_id"] \
        == "u"  # a trailing ':' is no tag


def test_a_name_that_matches_nothing_falls_back_to_metadata():
    images = [_image("a", "centos-7", distribution="centos"),
              _image("b", "ubuntu-lts", distribution="Ubuntu")]
    wanted = {"image": "my-own-ubuntu", "distribution": "ubuntu"}
    assert matching.match_image(wanted, images)["image_id"] == "b"


def test_a_name_alone_that_matches_nothing_is_no_match():
    images = [_image("a", "centos-7", distribution="centos")]
    assert matching.match_image({"image": "my-own-ubuntu"}, images) is None
    # a blank name is no name: the first image of the CMDB, as INDIGO does
    assert matching.match_image({"image": " "}, images)["image_id"] == "a"


def test_no_requirement_at_all_takes_the_first_image_and_none_without_images():
    images = [_image("first", "x"), _image("second", "y")]
    assert matching.match_image({}, images)["image_id"] == "first"
    assert matching.match_image({}, []) is None


def test_metadata_filters_apply_in_order_and_the_first_survivor_in_cmdb_order_wins():
    images = [_image("arm", architecture="aarch64", type="linux", distribution="ubuntu",
                     version="22.04"),
              _image("old", architecture="x86_64", type="linux", distribution="ubuntu",
                     version="20.04"),
              _image("win", architecture="x86_64", type="windows", distribution="windows",
                     version="22.04"),
              _image("good1", architecture="X86_64", type="Linux", distribution="Ubuntu",
                     version="22.04"),
              _image("good2", architecture="x86_64", type="linux", distribution="ubuntu",
                     version="22.04")]
    wanted = {"type": "linux", "architecture": "x86_64", "distribution": "ubuntu",
              "version": "22.04"}
    assert matching.match_image(wanted, images)["image_id"] == "good1"


def test_a_numeric_version_compares_as_text():
    images = [_image("a", version="22.04")]
    assert matching.match_image({"version": 22.04}, images)["image_id"] == "a"
    assert matching.match_image({"version": "22.4"}, images) is None


def test_gpu_driver_and_cuda_flags_required_true_need_true_and_false_asks_nothing():
    images = [_image("plain", gpu_driver=False, cuda_support=False),
              _image("gpu", gpu_driver=True, cuda_support=False),
              _image("cuda", gpu_driver=True, cuda_support=True, cuda_version="11.2",
                     gpu_driver_version="470", cuDNN_version="8")]
    assert matching.match_image({"gpu_driver": True}, images)["image_id"] == "gpu"
    assert matching.match_image({"gpu_driver": False}, images)["image_id"] == "plain"
    assert matching.match_image({"cuda_support": True}, images)["image_id"] == "cuda"
    assert matching.match_image({"cuda_min_version": "11.2"}, images)["image_id"] == "cuda"
    assert matching.match_image({"cuda_min_version": "12.0"}, images) is None
    assert matching.match_image({"gpu_driver_version": "470"}, images)["image_id"] == "cuda"
    assert matching.match_image({"cuDNN_version": "8"}, images)["image_id"] == "cuda"
    # a false flag still counts as a filter: with a name that matched nothing, not "no match"
    found = matching.match_image({"image": "nothing", "gpu_driver": False}, images)
    assert found["image_id"] == "plain"


# --- flavors ----------------------------------------------------------------------------------

FLAVORS = [
    _flavor("xlarge", 8, 16000, 160),
    _flavor("gpu", 8, 32000, 100, gpus=1, gpu_vendor="NVIDIA", gpu_model="V100"),
    _flavor("small", 1, 2000, 20),
    _flavor("medium", 2, 4000, 40),
    _flavor("medium-fat", 2, 8000, 40),
    _flavor("gpu2", 8, 32000, 100, gpus=2, gpu_vendor="AMD", gpu_model="MI100"),
    _flavor("ib", 4, 8000, 80, infiniband_support=True),
]


def _pick(wanted, flavors=None):
    found = matching.match_flavor(wanted, matching.sort_flavors(flavors or FLAVORS))
    return found and found["flavor_name"]


def test_flavor_by_exact_name_first():
    assert _pick({"instance_type": "xlarge", "num_cpus": 1}) == "xlarge"


def test_a_flavor_name_alone_that_matches_nothing_is_no_match():
    assert _pick({"instance_type": "m1.huge"}) is None
    assert _pick({"instance_type": "m1.huge", "num_cpus": 1}) == "small"


def test_smallest_flavor_that_fits_in_gpus_cpus_ram_disk_order():
    assert _pick({"num_cpus": 2}) == "medium"
    assert _pick({"num_cpus": 2, "mem_size": 5000}) == "medium-fat"
    assert _pick({"mem_size": 9000}) == "xlarge"  # 8 cpus/16 GB sorts before the GPU flavors
    assert _pick({"disk_size": 90}) == "xlarge"
    assert _pick({"num_cpus": 64}) is None
    assert _pick({}) == "small"


def test_sort_order_puts_gpus_first_and_missing_values_first():
    flavors = [_flavor("b", 1, 1000, 10, gpus=1), _flavor("a", 4, 4000, 40, gpus=0),
               _flavor("n", None, None, None, gpus=None)]
    assert [f["flavor_name"] for f in matching.sort_flavors(flavors)] == ["n", "a", "b"]


def test_1_gb_is_1000_mb():
    flavors = [_flavor("one-gb", 1, 1000, 10), _flavor("one-gib", 1, 1024, 10),
               _flavor("bigger", 1, 1100, 10)]
    assert _pick(matching.flavor_requirement(vm(host={"mem_size": "1 GB"})), flavors) \
        == "one-gb"
    assert _pick(matching.flavor_requirement(vm(host={"mem_size": "1 GiB"})), flavors) \
        == "bigger"  # 1073 MB: one-gib (1024) is too small
    assert _pick(matching.flavor_requirement(vm(host={"disk_size": "10 GB"})), flavors) \
        == "one-gb"


def test_gpu_vendor_and_model_match_case_insensitively_only_when_gpus_are_asked():
    assert _pick({"num_gpus": 1, "gpu_vendor": "nvidia", "gpu_model": "v100"}) == "gpu"
    assert _pick({"num_gpus": 1, "gpu_vendor": "amd"}) == "gpu2"
    assert _pick({"num_gpus": 1, "gpu_vendor": "intel"}) is None
    assert _pick({"num_gpus": 1, "gpu_vendor": ""}) == "gpu"  # empty asks nothing
    assert _pick({"num_gpus": 0, "gpu_vendor": "intel"}) == "small"  # ignored without GPUs


def test_infiniband_required_true_needs_true():
    assert _pick({"infiniband_support": True}) == "ib"
    assert _pick({"infiniband_support": False}) == "small"


def test_a_flavor_missing_a_value_does_not_fit_instead_of_failing():
    flavors = [_flavor("unknown", None, None, None), _flavor("known", 2, 2000, 20)]
    assert _pick({"num_cpus": 1, "mem_size": 1000}, flavors) == "known"


# --- volume types -----------------------------------------------------------------------------

def test_volume_type_matches_name_or_qos():
    offered = [{"name": "standard", "qos": "std"}, {"name": "ceph-ssd", "qos": "ssd"}]
    assert matching.match_volume_type("ceph-ssd", offered) == "ceph-ssd"
    assert matching.match_volume_type("ssd", offered) == "ceph-ssd"
    assert matching.match_volume_type("nvme", offered) is None


def test_describe_names_each_requirement():
    assert matching.describe({"distribution": "ubuntu", "mem_size": 2000, "disk_size": 10.0}) \
        == "distribution ubuntu, mem_size 2000 MB, disk_size 10 GB"
    assert matching.describe({}) == "no requirements"

"""Fake plug-ins that let Debian's OpenStack services run on one machine without hypervisor, agents or storage.

setup.sh puts this directory on the services' PYTHONPATH (they run under Debian's /usr/bin/python3).
"""

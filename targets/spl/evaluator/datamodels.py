"""CIM data model datasets, as ``tstats ... FROM datamodel=<model>.<dataset>`` reads them.

From the CIM reference tables ("The following tags act as constraints to identify your events as
being relevant to this data model"; CIM 5.x/6.x): Endpoint - Processes: process, report; Filesystem:
endpoint, filesystem; Registry: endpoint, registry; Network Traffic - All_Traffic: network,
communicate; Authentication - Authentication: authentication. A CIM-compliant event carries the
dataset's CIM field names, and tstats names them ``<dataset>.<field>`` ("Each data set is directly
searchable as DataModel.DataSet"). Kept apart from eqlc's cim.yaml on purpose: a wrong tag in the
emitter's mapping then shows as a different selection.
"""

from __future__ import annotations

CONSTRAINT_TAGS: dict[str, tuple[str, ...]] = {
    "Endpoint.Processes": ("process", "report"),
    "Endpoint.Filesystem": ("endpoint", "filesystem"),
    "Endpoint.Registry": ("endpoint", "registry"),
    "Network_Traffic.All_Traffic": ("network", "communicate"),
    "Authentication.Authentication": ("authentication",),
}

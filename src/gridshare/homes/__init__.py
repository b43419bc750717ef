"""Homes domain: sites, devices, topology, operation modes and plans (pure logic, no I/O).

Import from the submodules (`gridshare.homes.plans`, ...); see docs/domain-homes.md.
"""

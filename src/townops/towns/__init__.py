"""The loaded town as every domain reads it: its database rows (``models``), its runtime
profile (``profile``) and the registry of configuration sections each domain declares
(``sections``). Reference layer: it imports no domain (the files and their loader are in
:mod:`townops.townfiles`).
"""

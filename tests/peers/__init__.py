"""Real, independent fediverse software from the package registries (bovine-herd, Fedify,
jsonld.js), installed pinned by `make peers` and run against real nodes on loopback."""

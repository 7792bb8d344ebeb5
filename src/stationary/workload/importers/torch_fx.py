"""The PyTorch importer under its former name (it used torch.fx; it now uses torch.export): see `pytorch`."""

from stationary.workload.importers.pytorch import import_factory, import_module

__all__ = ["import_factory", "import_module"]

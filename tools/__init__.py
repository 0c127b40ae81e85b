"""Tools beside the product (a world simulator, reports); not installed with the package."""

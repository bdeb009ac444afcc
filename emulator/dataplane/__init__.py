"""The data plane: listeners that carry real traffic, kept in step with the store by a reconciler."""

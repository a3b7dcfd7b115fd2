import PolicyWatchAPI

/// Durable storage of proposals and verdicts.
public enum PolicyStoreModule {}

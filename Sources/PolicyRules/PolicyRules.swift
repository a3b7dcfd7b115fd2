import CEL
import PolicyWatchAPI

/// Rule files, the compiled rule book and the engine that explains verdicts.
public enum PolicyRulesModule {}

import Foundation
import PolicyRules
import Synchronization

/// The live rule book of a server, and the outcome of the last attempt to load it. Every call
/// takes one whole book (one atomic read); a reload swaps in a new book only when the whole
/// directory loads without errors.
public final class RuleBookRegistry: Sendable {
  /// What ``reload()`` did.
  public struct ReloadOutcome: Sendable {
    /// Whether a new book was swapped in.
    public var reloaded: Bool
    /// The live book after the attempt.
    public var book: RuleBook
    /// Why the attempt was refused, when it was.
    public var diagnostics: [Diagnostic]
    /// Frameworks whose content changed (added, removed or edited).
    public var changedFrameworks: [String]
  }

  /// The live book and the history of loading it.
  public struct Status: Sendable {
    public var book: RuleBook
    public var loadedAt: Date
    public var lastAttemptAt: Date
    public var lastAttemptFailed: Bool
    public var lastError: [Diagnostic]
  }

  /// The rules directory.
  public let directory: String
  private let state: Mutex<Status>

  /// Loads `directory`; throws its diagnostics when it does not load.
  public init(directory: String) throws(DiagnosticsError) {
    self.directory = directory
    let book = try RuleBookLoader.load(directory: directory)
    let now = Date()
    self.state = Mutex(
      Status(book: book, loadedAt: now, lastAttemptAt: now, lastAttemptFailed: false, lastError: [])
    )
  }

  /// The live rule book.
  public var current: RuleBook { self.state.withLock { $0.book } }

  /// The live rule book and the outcome of the last load.
  public var status: Status { self.state.withLock { $0 } }

  /// Loads the directory again and swaps the new book in if it has no errors.
  public func reload() -> ReloadOutcome {
    let now = Date()
    do {
      let book = try RuleBookLoader.load(directory: self.directory)
      return self.state.withLock { state in
        let old = Dictionary(
          uniqueKeysWithValues: state.book.frameworks.map { ($0.id, $0.contentHash) })
        let new = Dictionary(uniqueKeysWithValues: book.frameworks.map { ($0.id, $0.contentHash) })
        let changed = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }.sorted()
        let swapped = book.revision != state.book.revision
        if swapped {
          state.book = book
          state.loadedAt = now
        }
        state.lastAttemptAt = now
        state.lastAttemptFailed = false
        state.lastError = []
        return ReloadOutcome(
          reloaded: swapped, book: state.book, diagnostics: [], changedFrameworks: changed)
      }
    } catch {
      return self.state.withLock { state in
        state.lastAttemptAt = now
        state.lastAttemptFailed = true
        state.lastError = error.diagnostics
        return ReloadOutcome(
          reloaded: false, book: state.book, diagnostics: error.diagnostics, changedFrameworks: [])
      }
    }
  }
}

import CSQLite
import Foundation

/// A thin wrapper over Debian's libsqlite3 C API. Our own rather than GRDB: the store needs only
/// prepared statements and explicit transactions (group commit decides when to commit), and a
/// wrapper of a hundred lines builds in seconds where a full ORM adds minutes to every cold build.
/// Not thread-safe: each connection is used by one owner at a time.
final class SQLiteConnection {
  private var handle: OpaquePointer?
  let path: String

  struct Error: Swift.Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "SQLite error \(self.code): \(self.message)" }
  }

  init(path: String) throws {
    self.path = path
    var db: OpaquePointer?
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &db, flags, nil)
    guard status == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
      sqlite3_close(db)
      throw Error(code: status, message: "\(path): \(message)")
    }
    self.handle = db
    sqlite3_busy_timeout(db, 5000)
  }

  deinit {
    sqlite3_close_v2(self.handle)
  }

  func error(_ code: Int32) -> Error {
    Error(code: code, message: self.handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
  }

  func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let status = sqlite3_exec(self.handle, sql, nil, nil, &message)
    if status != SQLITE_OK {
      let text = message.map { String(cString: $0) } ?? "unknown"
      sqlite3_free(message)
      throw Error(code: status, message: text)
    }
  }

  func prepare(_ sql: String) throws -> SQLiteStatement {
    var statement: OpaquePointer?
    let status = sqlite3_prepare_v3(
      self.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
    guard status == SQLITE_OK, let statement else { throw self.error(status) }
    return SQLiteStatement(statement, connection: self)
  }

  var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(self.handle) }
}

/// A prepared statement, reset and reused for each execution.
final class SQLiteStatement {
  private let statement: OpaquePointer
  private unowned let connection: SQLiteConnection
  private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

  init(_ statement: OpaquePointer, connection: SQLiteConnection) {
    self.statement = statement
    self.connection = connection
  }

  deinit { sqlite3_finalize(self.statement) }

  enum Value {
    case int(Int64)
    case text(String)
    case blob(Data)
    case null
  }

  /// Binds `values` (1-based) after a reset.
  func bind(_ values: [Value]) throws {
    sqlite3_reset(self.statement)
    sqlite3_clear_bindings(self.statement)
    for (offset, value) in values.enumerated() {
      let index = Int32(offset + 1)
      let status: Int32
      switch value {
      case .int(let i): status = sqlite3_bind_int64(self.statement, index, i)
      case .text(let s): status = sqlite3_bind_text(self.statement, index, s, -1, Self.transient)
      case .blob(let d):
        status = d.withUnsafeBytes { bytes in
          sqlite3_bind_blob(
            self.statement, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
      case .null: status = sqlite3_bind_null(self.statement, index)
      }
      guard status == SQLITE_OK else { throw self.connection.error(status) }
    }
  }

  /// Steps once; true when a row is available.
  func step() throws -> Bool {
    let status = sqlite3_step(self.statement)
    switch status {
    case SQLITE_ROW: return true
    case SQLITE_DONE: return false
    default: throw self.connection.error(status)
    }
  }

  /// Runs a statement that returns no rows.
  func run(_ values: [Value]) throws {
    try self.bind(values)
    while try self.step() {}
  }

  func int(_ column: Int32) -> Int64 { sqlite3_column_int64(self.statement, column) }

  func text(_ column: Int32) -> String {
    guard let pointer = sqlite3_column_text(self.statement, column) else { return "" }
    return String(cString: pointer)
  }

  func blob(_ column: Int32) -> Data {
    let count = Int(sqlite3_column_bytes(self.statement, column))
    guard count > 0, let pointer = sqlite3_column_blob(self.statement, column) else {
      return Data()
    }
    return Data(bytes: pointer, count: count)
  }
}

import Foundation
import PolicyStore
import PolicyWatchAPI
import Synchronization

/// Fans committed verdict events out to watchers. The store publishes each commit's events, in
/// sequence order, before answering the callers of that commit; every watcher has a bounded
/// queue of its own, so a slow watcher never slows the store or the other watchers: when its
/// queue is full it is cut off (and resumes from the store).
public final class VerdictHub: Sendable {
  private struct State {
    var subscribers: [UInt64: WatchSubscription] = [:]
    var nextID: UInt64 = 0
    var latest: Int64
    var closed = false
  }
  private let state: Mutex<State>

  /// Creates a hub whose latest sequence is `latest` (the store's).
  public init(latest: Int64) {
    self.state = Mutex(State(latest: latest))
  }

  /// The latest sequence published.
  public var latestSequence: Int64 { self.state.withLock { $0.latest } }

  /// How many watchers are subscribed.
  public var watcherCount: Int { self.state.withLock { $0.subscribers.count } }

  /// Hands one commit's events to every matching subscriber. Called in sequence order.
  public func publish(_ events: [Policywatch_V1_VerdictEvent], latest: Int64) {
    self.state.withLock { state in
      state.latest = max(state.latest, latest)
      for subscriber in state.subscribers.values {
        for event in events where subscriber.filter.matches(event) { subscriber.offer(event) }
      }
    }
  }

  /// Subscribes a watcher, or returns nil when the hub is closed or already has `limit`
  /// watchers. The subscription's `startSequence` is the latest sequence published when it was
  /// made: every later event reaches it.
  public func subscribe(filter: EventFilter, capacity: Int, limit: Int = .max) -> WatchSubscription?
  {
    self.state.withLock { state in
      guard !state.closed, state.subscribers.count < limit else { return nil }
      state.nextID += 1
      let subscription = WatchSubscription(
        id: state.nextID, filter: filter, capacity: capacity, startSequence: state.latest)
      state.subscribers[state.nextID] = subscription
      return subscription
    }
  }

  /// Removes a watcher.
  public func unsubscribe(_ subscription: WatchSubscription) {
    _ = self.state.withLock { $0.subscribers.removeValue(forKey: subscription.id) }
    subscription.close()
  }

  /// Gives each watcher that had nothing since the last tick a heartbeat.
  public func tick() {
    self.state.withLock { state in
      for subscriber in state.subscribers.values { subscriber.tick(latest: state.latest) }
    }
  }

  /// Ends every watcher (server shutdown); no new ones are accepted.
  public func close() {
    let subscribers = self.state.withLock { state in
      state.closed = true
      defer { state.subscribers = [:] }
      return Array(state.subscribers.values)
    }
    for subscriber in subscribers { subscriber.close() }
  }
}

/// One watcher's queue of events.
public final class WatchSubscription: Sendable {
  /// What ``next()`` gives.
  public enum Item: Sendable, Equatable {
    case event(Policywatch_V1_VerdictEvent)
    /// Nothing happened since the last item; every event up to this sequence was delivered.
    case heartbeat(Int64)
    /// The queue overflowed. `caughtUp` tells whether the watcher had emptied its queue at least
    /// once before (then it is too slow; otherwise it was still replaying from the store).
    case overflow(caughtUp: Bool)
    /// The hub was closed or the watcher removed.
    case closed
  }

  private struct State {
    var queue: [Policywatch_V1_VerdictEvent] = []
    var head = 0
    var waiter: CheckedContinuation<Item, Never>?
    var overflowed = false
    var closed = false
    var caughtUp = false
    var activeSinceTick = false
    var heartbeat: Int64?
  }

  let id: UInt64
  let filter: EventFilter
  let capacity: Int
  /// The latest sequence published when the subscription was made.
  public let startSequence: Int64
  private let state = Mutex(State())

  init(id: UInt64, filter: EventFilter, capacity: Int, startSequence: Int64) {
    self.id = id
    self.filter = filter
    self.capacity = max(1, capacity)
    self.startSequence = startSequence
  }

  func offer(_ event: Policywatch_V1_VerdictEvent) {
    let deliver = self.state.withLock { state -> (CheckedContinuation<Item, Never>, Item)? in
      guard !state.closed, !state.overflowed else { return nil }
      state.activeSinceTick = true
      state.heartbeat = nil
      if let waiter = state.waiter {
        state.waiter = nil
        return (waiter, .event(event))
      }
      if state.queue.count - state.head >= self.capacity {
        state.overflowed = true
        state.queue = []
        state.head = 0
        return nil
      }
      state.queue.append(event)
      return nil
    }
    if let (waiter, item) = deliver { waiter.resume(returning: item) }
  }

  func tick(latest: Int64) {
    let deliver = self.state.withLock { state -> CheckedContinuation<Item, Never>? in
      guard !state.closed, !state.overflowed else { return nil }
      defer { state.activeSinceTick = false }
      guard !state.activeSinceTick, state.queue.count == state.head else { return nil }
      if let waiter = state.waiter {
        state.waiter = nil
        return waiter
      }
      state.heartbeat = latest
      return nil
    }
    deliver?.resume(returning: .heartbeat(latest))
  }

  func close() {
    let waiter = self.state.withLock { state -> CheckedContinuation<Item, Never>? in
      state.closed = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(returning: .closed)
  }

  /// The next item, waiting for one; `.closed` when the task is cancelled.
  public func next() async -> Item {
    if let item = self.take() { return item }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let item = self.state.withLock { state -> Item? in
          if let item = Self.take(&state) { return item }
          if Task.isCancelled { return .closed }
          state.waiter = continuation
          return nil
        }
        if let item { continuation.resume(returning: item) }
      }
    } onCancel: {
      self.close()
    }
  }

  private func take() -> Item? { self.state.withLock { Self.take(&$0) } }

  private static func take(_ state: inout State) -> Item? {
    if state.overflowed { return .overflow(caughtUp: state.caughtUp) }
    if state.head < state.queue.count {
      let event = state.queue[state.head]
      state.head += 1
      if state.head == state.queue.count {
        state.queue.removeAll(keepingCapacity: true)
        state.head = 0
      }
      return .event(event)
    }
    if state.closed { return .closed }
    state.caughtUp = true
    if let heartbeat = state.heartbeat {
      state.heartbeat = nil
      return .heartbeat(heartbeat)
    }
    return nil
  }
}

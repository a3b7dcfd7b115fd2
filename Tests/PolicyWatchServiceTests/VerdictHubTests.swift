import PolicyStore
import PolicyWatchAPI
import Testing

@testable import PolicyWatchService

func event(_ sequence: Int64, framework: String = "f", outcome: Policywatch_V1_Outcome = .aligned)
  -> Policywatch_V1_VerdictEvent
{
  var event = Policywatch_V1_VerdictEvent()
  event.kind = .created
  event.sequence = sequence
  event.verdict.sequence = sequence
  event.verdict.frameworkID = framework
  event.verdict.outcome = outcome
  return event
}

@Suite struct VerdictHubTests {
  @Test func subscribersGetMatchingEventsInOrder() async throws {
    let hub = VerdictHub(latest: 7)
    var filter = EventFilter()
    filter.frameworkIDs = ["g"]
    let all = try #require(hub.subscribe(filter: EventFilter(), capacity: 10))
    let some = try #require(hub.subscribe(filter: filter, capacity: 10))
    #expect(all.startSequence == 7)
    hub.publish([event(8), event(9, framework: "g")], latest: 9)
    #expect(await all.next() == .event(event(8)))
    #expect(await all.next() == .event(event(9, framework: "g")))
    #expect(await some.next() == .event(event(9, framework: "g")))
    #expect(hub.latestSequence == 9)
    #expect(hub.watcherCount == 2)
    hub.unsubscribe(all)
    #expect(hub.watcherCount == 1)
    #expect(await all.next() == .closed)
  }

  /// Past its capacity a subscription drops its queue and reports the overflow once, telling
  /// whether it had caught up before (a slow reader) or not (still replaying).
  @Test func overflowIsReportedWithWhetherTheWatcherHadCaughtUp() async throws {
    let hub = VerdictHub(latest: 0)
    let replaying = try #require(hub.subscribe(filter: EventFilter(), capacity: 2))
    let live = try #require(hub.subscribe(filter: EventFilter(), capacity: 2))
    hub.publish([event(1)], latest: 1)
    #expect(await live.next() == .event(event(1)))
    // `live` has now emptied its queue once: it caught up.
    hub.tick()
    hub.tick()
    #expect(await live.next() == .heartbeat(1))
    hub.publish([event(2), event(3), event(4)], latest: 4)
    #expect(await replaying.next() == .overflow(caughtUp: false))
    #expect(await live.next() == .overflow(caughtUp: true))
  }

  @Test func heartbeatsOnlyOnIdleStreams() async throws {
    let hub = VerdictHub(latest: 3)
    let subscription = try #require(hub.subscribe(filter: EventFilter(), capacity: 10))
    hub.publish([event(4)], latest: 4)
    hub.tick()  // there was activity since the last tick: no heartbeat
    #expect(await subscription.next() == .event(event(4)))
    hub.publish([], latest: 6)
    hub.tick()  // idle since the last tick
    #expect(await subscription.next() == .heartbeat(6))
  }

  @Test func closingEndsWaitingWatchersAndRefusesNewOnes() async throws {
    let hub = VerdictHub(latest: 0)
    let subscription = try #require(hub.subscribe(filter: EventFilter(), capacity: 10))
    async let next = subscription.next()
    try await Task.sleep(for: .milliseconds(20))
    hub.close()
    #expect(await next == .closed)
    #expect(hub.subscribe(filter: EventFilter(), capacity: 10) == nil)
  }

  @Test func theWatcherLimitIsEnforced() throws {
    let hub = VerdictHub(latest: 0)
    _ = try #require(hub.subscribe(filter: EventFilter(), capacity: 1, limit: 1))
    #expect(hub.subscribe(filter: EventFilter(), capacity: 1, limit: 1) == nil)
  }
}

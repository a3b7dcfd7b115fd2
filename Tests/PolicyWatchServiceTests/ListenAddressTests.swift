import PolicyWatchService
import Testing

@Suite struct ListenAddressTests {
  @Test(arguments: [
    ("127.0.0.1:50051", "127.0.0.1", 50051, true),
    ("[::1]:8080", "::1", 8080, true),
    ("localhost:0", "localhost", 0, true),
    ("0.0.0.0:443", "0.0.0.0", 443, false),
    ("10.1.2.3:50051", "10.1.2.3", 50051, false),
  ])
  func parsesHostAndPort(text: String, host: String, port: Int, loopback: Bool) throws {
    let address = try #require(ListenAddress(text))
    #expect(address.host == host)
    #expect(address.port == port)
    #expect(address.isLoopback == loopback)
    #expect(address.description == text)
  }

  @Test(arguments: [
    "", "50051", "host", ":50051", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "[::1]80",
  ])
  func rejectsMalformedAddresses(text: String) {
    #expect(ListenAddress(text) == nil)
  }
}

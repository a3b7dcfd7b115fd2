import Testing

@testable import CEL

@Suite struct SourceTests {
  @Test func mapsOffsetsToLinesAndColumns() {
    let source = CELSource("a &&\n  bé ||\r\nc")
    #expect(source.location(ofOffset: 0) == SourceLocation(line: 1, column: 1, offset: 0))
    #expect(source.location(ofOffset: 7) == SourceLocation(line: 2, column: 3, offset: 7))
    #expect(source.location(ofOffset: 14) == SourceLocation(line: 3, column: 1, offset: 14))
    #expect(source.line(2) == "  bé ||")
  }
}

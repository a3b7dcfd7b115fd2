import Foundation
import GRPCCore
import GRPCProtobuf
import PolicyWatchAPI
import SwiftProtobuf

/// The standard `grpc.reflection.v1.ServerReflection` service (also answering as `v1alpha`,
/// which older clients such as Python's `grpcio-reflection` call), serving the descriptor set
/// that `scripts/generate-proto.sh` embeds in `PolicyWatchAPI`.
struct ReflectionService: RegistrableRPCService {
  typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
  typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

  /// The descriptors, indexed once at start.
  struct Index: Sendable {
    /// Serialized `FileDescriptorProto` by file name.
    var files: [String: Data] = [:]
    /// Direct dependencies by file name.
    var dependencies: [String: [String]] = [:]
    /// The file that declares each fully qualified symbol.
    var fileBySymbol: [String: String] = [:]
    /// Extension numbers by extended type, and the file that declares each.
    var extensions: [String: [Int32: String]] = [:]

    init(descriptorSet: Google_Protobuf_FileDescriptorSet) throws {
      for file in descriptorSet.file {
        self.files[file.name] = try file.serializedData()
        self.dependencies[file.name] = file.dependency
        let prefix = file.package.isEmpty ? "" : file.package + "."
        for message in file.messageType { self.index(message, prefix: prefix, file: file.name) }
        for enumType in file.enumType { self.fileBySymbol[prefix + enumType.name] = file.name }
        for service in file.service {
          let name = prefix + service.name
          self.fileBySymbol[name] = file.name
          for method in service.method { self.fileBySymbol[name + "." + method.name] = file.name }
        }
        for ext in file.extension { self.indexExtension(ext, prefix: prefix, file: file.name) }
      }
    }

    private mutating func index(
      _ message: Google_Protobuf_DescriptorProto,
      prefix: String,
      file: String
    ) {
      let name = prefix + message.name
      self.fileBySymbol[name] = file
      for field in message.field { self.fileBySymbol[name + "." + field.name] = file }
      for nested in message.nestedType { self.index(nested, prefix: name + ".", file: file) }
      for enumType in message.enumType { self.fileBySymbol[name + "." + enumType.name] = file }
      for ext in message.extension { self.indexExtension(ext, prefix: name + ".", file: file) }
    }

    private mutating func indexExtension(
      _ ext: Google_Protobuf_FieldDescriptorProto,
      prefix: String,
      file: String
    ) {
      self.fileBySymbol[prefix + ext.name] = file
      let extended = ext.extendee.hasPrefix(".") ? String(ext.extendee.dropFirst()) : ext.extendee
      self.extensions[extended, default: [:]][ext.number] = file
    }

    /// `name` and every file it imports, transitively, each once, the file itself first.
    func fileWithDependencies(_ name: String) -> [Data] {
      var seen: Set<String> = []
      var order: [String] = []
      var stack = [name]
      while let next = stack.popLast() {
        guard seen.insert(next).inserted else { continue }
        order.append(next)
        stack.append(contentsOf: (self.dependencies[next] ?? []).reversed())
      }
      return order.compactMap { self.files[$0] }
    }
  }

  let index: Index
  /// Fully qualified names of the services the server offers, listed by `list_services`.
  let serviceNames: [String]

  init(serviceNames: [String]) throws {
    guard
      let data = Data(
        base64Encoded: PolicyWatchDescriptors.base64,
        options: .ignoreUnknownCharacters
      )
    else {
      throw RPCError(code: .internalError, message: "the embedded descriptor set is not base64")
    }
    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data)
    self.index = try Index(descriptorSet: set)
    self.serviceNames = serviceNames.sorted()
  }

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    for service in [
      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ] {
      router.registerHandler(
        forMethod: MethodDescriptor(fullyQualifiedService: service, method: "ServerReflectionInfo"),
        deserializer: ProtobufDeserializer<Request>(),
        serializer: ProtobufSerializer<Response>()
      ) { request, context in
        StreamingServerResponse { writer in
          for try await message in request.messages {
            try await writer.write(self.answer(message))
          }
          return [:]
        }
      }
    }
  }

  /// The answer to one reflection request.
  func answer(_ request: Request) -> Response {
    var response = Response()
    response.validHost = request.host
    response.originalRequest = request
    switch request.messageRequest {
    case .fileByFilename(let name):
      if self.index.files[name] != nil {
        response.fileDescriptorResponse.fileDescriptorProto = self.index.fileWithDependencies(name)
      } else {
        response.errorResponse = Self.notFound("file '\(name)' not found")
      }
    case .fileContainingSymbol(let symbol):
      if let file = self.index.fileBySymbol[symbol] {
        response.fileDescriptorResponse.fileDescriptorProto = self.index.fileWithDependencies(file)
      } else {
        response.errorResponse = Self.notFound("symbol '\(symbol)' not found")
      }
    case .fileContainingExtension(let request):
      if let file = self.index.extensions[request.containingType]?[request.extensionNumber] {
        response.fileDescriptorResponse.fileDescriptorProto = self.index.fileWithDependencies(file)
      } else {
        response.errorResponse = Self.notFound(
          "extension \(request.extensionNumber) of '\(request.containingType)' not found"
        )
      }
    case .allExtensionNumbersOfType(let type):
      if self.index.fileBySymbol[type] != nil {
        response.allExtensionNumbersResponse.baseTypeName = type
        response.allExtensionNumbersResponse.extensionNumber =
          (self.index.extensions[type]?.keys).map { $0.sorted() } ?? []
      } else {
        response.errorResponse = Self.notFound("type '\(type)' not found")
      }
    case .listServices:
      response.listServicesResponse.service = self.serviceNames.map {
        var service = Grpc_Reflection_V1_ServiceResponse()
        service.name = $0
        return service
      }
    case .none:
      response.errorResponse.errorCode = Int32(RPCError.Code.invalidArgument.rawValue)
      response.errorResponse.errorMessage = "the request names no message_request"
    }
    return response
  }

  private static func notFound(_ message: String) -> Grpc_Reflection_V1_ErrorResponse {
    var error = Grpc_Reflection_V1_ErrorResponse()
    error.errorCode = Int32(RPCError.Code.notFound.rawValue)
    error.errorMessage = message
    return error
  }
}

/// One entry of an S3 listing.
public struct S3Object: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let eTag: String
    public let lastModified: String
    public let storageClass: String?
}

/// One page of `ListObjectsV2`, with the raw answer kept for the spool.
public struct S3ListPage: Sendable {
    public let objects: [S3Object]
    public let commonPrefixes: [String]
    public let nextContinuationToken: String?
    public let isTruncated: Bool
}

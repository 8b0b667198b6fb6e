/// The version of cloudspool, shown by `--version` and in the User-Agent.
public enum CloudspoolVersion {
    public static let current = "0.1.0"
}

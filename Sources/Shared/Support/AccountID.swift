/// Checks for AWS account ids: exactly twelve ASCII digits.
public enum AccountID {
    public static func isValid(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

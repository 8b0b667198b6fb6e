/// The failures of the collectors of one stage run: one collector's failure
/// never stops the others. Once all ran, the most serious failure decides the
/// exit code and every other one is reported as an error of the run.
struct CollectorFailures {
    private var failures: [(collector: String?, error: Error)] = []

    /// Runs one collector's part of the stage, keeping its failure for later.
    mutating func run(_ collector: Collector?, _ work: () throws -> Void) {
        // Asked to stop: start nothing new.
        guard !failures.contains(where: { ($0.error as? CloudspoolError)?.code == .stopped }) else { return }
        do {
            try StopRequest.checkpoint()
            try work()
        } catch {
            failures.append((collector?.name, error))
        }
    }

    /// Throws the most serious failure (configuration before failure before
    /// partial), after adding the others to the run's errors.
    func finish(_ report: inout RunReport) throws {
        guard !failures.isEmpty else { return }
        let rank: (Error) -> Int = { error in
            switch (error as? CloudspoolError)?.exit ?? .failure {
            case .terminated: return -1
            case .usage: return 0
            case .failure: return 1
            default: return 2
            }
        }
        let worst = failures.indices.min { rank(failures[$0].error) < rank(failures[$1].error) }!
        for (n, failure) in failures.enumerated() where n != worst {
            report.errors.append(StageRunner.describe(failure.error))
        }
        throw failures[worst].error
    }
}

// The platform logger: Moleculer's console logger with every argument passed through maskSecrets
// first (NFR-1, NFR-5), so no password, token, code or authorization header reaches a log line.
import { Loggers } from "moleculer";
import { maskSecrets } from "./mask";

export class MaskingConsoleLogger extends Loggers.Console {
	override getLogHandler(bindings: Parameters<Loggers.Console["getLogHandler"]>[0]) {
		const handler = super.getLogHandler(bindings);
		if (!handler) return null;
		return (type: Loggers.LogLevels, args: unknown[]) =>
			handler(
				type,
				args.map(a => maskSecrets(a)),
			);
	}
}

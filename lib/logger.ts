// The platform logger: Moleculer's console logger with every argument passed through maskSecrets
// first (NFR-1, NFR-5), so no password, token, code or authorization header reaches a log line.
import { Loggers } from "moleculer";
import { maskSecrets } from "./mask";

const LEVELS: string[] = (Loggers.Base as unknown as { LEVELS: string[] }).LEVELS;

export class MaskingConsoleLogger extends Loggers.Console {
	override getLogHandler(bindings: Parameters<Loggers.Console["getLogHandler"]>[0]) {
		const handler = super.getLogHandler(bindings);
		if (!handler) return null;
		// Lines below the level are dropped before masking: masking costs, and the gateway logs a lot.
		const levelIdx = LEVELS.indexOf(String(this.getLogLevel(bindings?.mod)));
		return (type: Loggers.LogLevels, args: unknown[]) => {
			if (LEVELS.indexOf(type) > levelIdx) return;
			handler(
				type,
				args.map(a => maskSecrets(a)),
			);
		};
	}
}

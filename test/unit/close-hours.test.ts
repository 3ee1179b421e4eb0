import { firstHourToClose } from "../../services/metering/close-hours";

const at = (iso: string) => Date.parse(iso);

describe("firstHourToClose: a new platform closes from the earliest of its first run, first sample and first environment", () => {
	it.each([
		["nothing yet: the hour of the first run", "2026-12-01T11:10:00Z", null, null, "2026-12-01T11:00:00Z"],
		["an environment from before the first run", "2026-12-01T11:10:00Z", null, "2026-12-01T08:30:00Z", "2026-12-01T08:00:00Z"],
		["a sample's hour earlier still", "2026-12-01T11:10:00Z", "2026-12-01T07:00:00Z", "2026-12-01T08:30:00Z", "2026-12-01T07:00:00Z"],
		["an environment created after the run started (clock skew): the run's hour", "2026-12-01T11:10:00Z", null, "2026-12-01T11:40:00Z", "2026-12-01T11:00:00Z"],
	])("%s", (_what, nowIso, sampleHour, envIso, expected) => {
		const sample = sampleHour === null ? null : at(sampleHour);
		const env = envIso === null ? null : at(envIso);
		expect(new Date(firstHourToClose(at(nowIso), sample, env)).toISOString()).toBe(new Date(at(expected)).toISOString());
	});
});

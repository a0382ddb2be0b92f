// Console capture shared by the test pages: every console line (the page's
// and the library's) is kept, the last 500, for the report to the Go test.

// fmt renders a value for a log line.
export function fmt(v) {
	if (v instanceof Error) return `${v.name}: ${v.message}`;
	if (typeof v === "string") return v;
	try {
		return JSON.stringify(v);
	} catch {
		return String(v);
	}
}

// captureConsole wraps console's levels; onLine (optional) sees each line's
// arguments first. It returns the array the lines go into.
export function captureConsole(onLine) {
	const logs = [];
	for (const level of ["debug", "log", "info", "warn", "error"]) {
		const orig = console[level].bind(console);
		console[level] = (...args) => {
			logs.push(`${level}: ${args.map(fmt).join(" ")}`);
			onLine?.(args);
			if (logs.length > 500) logs.shift();
			orig(...args);
		};
	}
	return logs;
}

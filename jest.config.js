/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
    // otplib's dependencies @noble and @scure ship ES modules only: jest needs them as CommonJS.
    "^.+\\.m?js$": ["ts-jest", { tsconfig: { allowJs: true, module: "commonjs", target: "ES2022", isolatedModules: true } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!(@noble|@scure)/)"],
  testTimeout: 30000,
  reporters: ["default", ["<rootDir>/test/helpers/summary-reporter.js", {}]],
  // Integration and e2e files start brokers and processes: one file at a time keeps them
  // inside 2 cores and keeps NATS subjects of different files apart.
  maxWorkers: 1,
};

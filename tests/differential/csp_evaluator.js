// Google's CSP Evaluator on a list of policies: node csp_evaluator.js <package dir> < policies.json
// Prints, per policy, its findings as {type, severity, directive, value} with the enums' names.
const dir = process.argv[2];
const {CspEvaluator} = require(dir + '/dist/evaluator.js');
const {CspParser} = require(dir + '/dist/parser.js');
const {Type, Severity} = require(dir + '/dist/finding.js');
const policies = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = policies.map(policy => new CspEvaluator(new CspParser(policy).csp).evaluate().map(f => ({
  type: Type[f.type], severity: Severity[f.severity], directive: f.directive, value: f.value === undefined ? null : f.value,
})));
process.stdout.write(JSON.stringify(out));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idFromName, nameFromId, resolveIdAndName } from '../../src/config/ids.js';
test('an id is made from a name: lowercase, other characters become single dashes, trimmed', () => {
    const cases = [
        ['Sign Off', 'sign-off'],
        ['Wait For Tests and Sign Off', 'wait-for-tests-and-sign-off'],
        ['Build Project', 'build-project'],
        ['  Every 5 Minutes! ', 'every-5-minutes'],
        ['final_task', 'final-task'],
        ['a--b..c', 'a-b-c'],
        ['complete', 'complete'],
    ];
    for (const [name, id] of cases)
        assert.equal(idFromName(name), id, name);
});
test('a name is made from an id: words split on dashes and capitalised', () => {
    const cases = [
        ['sign-off', 'Sign Off'],
        ['build-project', 'Build Project'],
        ['danmux', 'Danmux'],
        ['tests_passed', 'Tests Passed'],
    ];
    for (const [id, name] of cases)
        assert.equal(nameFromId(id), name, id);
});
test('either an id or a name must be given; an explicit id must be url friendly', () => {
    assert.deepEqual(resolveIdAndName('signed', 'Wait For Tests'), { id: 'signed', name: 'Wait For Tests' });
    assert.deepEqual(resolveIdAndName(undefined, 'Final Task'), { id: 'final-task', name: 'Final Task' });
    assert.deepEqual(resolveIdAndName('final-task', undefined), { id: 'final-task', name: 'Final Task' });
    assert.deepEqual(resolveIdAndName(undefined, undefined), { error: 'needs an id or a name' });
    const bad = resolveIdAndName('build.project', undefined);
    assert.ok('error' in bad && bad.error.includes('try "build-project"'), JSON.stringify(bad));
    const empty = resolveIdAndName(undefined, '!!!');
    assert.ok('error' in empty && empty.error.includes('cannot make an id'), JSON.stringify(empty));
});
//# sourceMappingURL=ids.test.js.map
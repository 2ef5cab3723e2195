/**
 * The most common passwords of 8 characters or more (from public breach corpora: the top of the
 * RockYou / HIBP / NCSC lists). Shorter ones already fail the length rule. Compared lower-cased.
 */
export const commonPasswords: ReadonlySet<string> = new Set([
  '12345678', '123456789', '1234567890', '12345678910', '123123123', '11111111', '00000000', '88888888',
  '87654321', '99999999', '11223344', '12341234', '123qweasd', '1q2w3e4r', '1q2w3e4r5t', '1qaz2wsx',
  'qwertyuiop', 'qwerty123', 'qwerty12', 'qwertyui', 'asdfghjkl', 'zxcvbnm1', 'zaq12wsx', 'q1w2e3r4',
  'password', 'password1', 'password12', 'password123', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'pa$$word',
  'iloveyou', 'iloveyou1', 'princess', 'princess1', 'sunshine', 'football', 'baseball', 'superman',
  'trustno1', 'whatever', 'starwars', 'computer', 'michelle', 'jennifer', 'corvette', 'mercedes',
  'maverick', 'midnight', 'mustang1', 'abcd1234', 'abc12345', 'abcdefgh', 'aa123456', 'asdf1234',
  'welcome1', 'welcome123', 'letmein1', 'letmein123', 'changeme', 'changeme1', 'administrator', 'admin123',
  'admin1234', 'secret123', 'monkey123', 'dragon123', 'shadow123', 'master123', 'qwer1234', 'test1234',
  'testtest', 'football1', 'baseball1', 'blink182', 'lovelove', 'chocolate', 'butterfly', 'liverpool',
  'elizabeth', 'danielle', 'babygirl1', 'jordan23', 'spiderman', 'pokemon1', 'minecraft', 'samantha',
  'charlie1', 'internet', 'summer2024', 'winter2024', 'spring2024', 'autumn2024', 'summer2025', 'winter2025',
  'summer2026', 'winter2026', 'password2024', 'password2025', 'password2026', 'welcome2024', 'welcome2025',
  'welcome2026', 'qazwsxedc', '1qazxsw2', 'a1b2c3d4', 'zxcvbnm123', 'iloveyou2', 'basketball', 'soccer12',
  'hello123', 'hellohello', 'freedom1', 'whatever1', 'nicole123', 'jessica1', 'michael1', 'ashley123',
  'qwerty1234', 'q1w2e3r4t5', '1234qwer', '147258369', '987654321', '123654789', '159753456', '741852963',
  'latchlatch', 'letmeinnow', 'correcthorsebatterystaple',
]);

// megalodon (npm, pinned in package.json) reads a city anonymously.
// stdin: {"base": the node's URL}
// stdout: JSON with what megalodon saw (the Python test asserts on it).
import generator, { detector } from 'megalodon';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));
const { base } = input;
const out = {};
out.sns = await detector(base);
const client = generator(out.sns, base);
out.instance = (await client.getInstance()).data;
const account = (await client.lookupAccount('berlin')).data;
out.account = account;
const statuses = await client.getAccountStatuses(account.id, { limit: 2 });
out.statuses = statuses.data;
out.link = statuses.headers.link ?? null;
out.older = (await client.getAccountStatuses(account.id, { max_id: statuses.data[1].id })).data;
out.status = (await client.getStatus(statuses.data[0].id)).data;
out.context = (await client.getStatusContext(statuses.data[0].id)).data;
out.local = (await client.getLocalTimeline()).data;
out.tag = (await client.getTagTimeline('climate')).data;
out.search = (await client.search('Heat', { type: 'statuses' })).data;
out.trends = (await client.getInstanceTrends()).data;

// megalodon opens a stream only with an access token ("accessToken is required"): its
// streaming is for signed-in apps (OAuth, issue 17.4); Mastodon.py streams anonymously.
process.stdout.write(JSON.stringify(out));
process.exit(0);

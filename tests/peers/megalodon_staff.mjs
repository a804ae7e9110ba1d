// megalodon (pinned in tests/peers/megalodon/package.json) as a staff member's app: step
// "register" creates the app and its authorisation URL; step "act" exchanges the code the
// person got from the consent page, then reads and writes as the city. JSON in, JSON out.
import generator from 'megalodon'

const OOB = 'urn:ietf:wg:oauth:2.0:oob'
const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (chunk) => { data += chunk })
  process.stdin.on('end', () => resolve(data))
}))

async function register({ base }) {
  const client = generator('mastodon', base)
  const app = await client.registerApp('megalodon test', {
    scopes: ['read', 'write', 'follow'],
    redirect_uris: OOB,
  })
  return { client_id: app.client_id, client_secret: app.client_secret, url: app.url }
}

async function act({ base, client_id, client_secret, code, object_uri }) {
  const anonymous = generator('mastodon', base)
  const token = await anonymous.fetchAccessToken(client_id, client_secret, code, OOB)
  const client = generator('mastodon', base, token.access_token)
  const me = (await client.verifyAccountCredentials()).data
  const home = (await client.getHomeTimeline({ limit: 40 })).data
  const status = home.find((s) => s.uri === object_uri)
  if (!status) throw new Error(`${object_uri} is not in the home timeline`)
  const reply = (await client.postStatus('Sent from megalodon', { in_reply_to_id: status.id })).data
  const liked = (await client.favouriteStatus(status.id)).data
  const relationship = (await client.getRelationship(status.account.id)).data
  const notifications = (await client.getNotifications({ limit: 10 })).data
  return {
    scope: token.scope,
    me: me.username,
    status_id: status.id,
    reply_in_reply_to: reply.in_reply_to_id,
    favourited: liked.favourited,
    following: relationship.following,
    notifications: notifications.map((n) => n.type),
  }
}

const steps = { register, act }
process.stdout.write(JSON.stringify(await steps[input.step](input)))

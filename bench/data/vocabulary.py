"""The words the generated people, cases and sign-ins are made of."""

FIRST_NAMES = (
    "Aisha Alex Amir Anna Ben Bola Carys Chen Chloe Dana Daniel Deepa Ella Emeka Fatima Finn "
    "Grace Hamza Hannah Ian Isla Jack James Jo Kai Kemi Laura Leo Lily Mark Maya Mohammed "
    "Nadia Niamh Noah Oliver Omar Priya Rachel Ravi Rosa Ruth Sam Sara Sean Sophie Tariq Tom "
    "Uma Victor Wei Yusuf Zara Zoe"
).split()
LAST_NAMES = (
    "Adams Ahmed Ali Baker Begum Bell Brown Campbell Chen Clarke Davies Evans Green Hall "
    "Harris Hughes Hussain Jackson James Jones Kaur Khan Lewis Martin Mensah Moore Morgan "
    "Murphy Nguyen Okafor Owen Patel Phillips Price Roberts Robinson Scott Shah Singh Smith "
    "Taylor Thomas Thompson Turner Walker Ward Watson White Williams Wilson Wood Wright Young"
).split()
JOB_TITLES = [
    "Policy Adviser",
    "Senior Policy Adviser",
    "Communications Officer",
    "Press Officer",
    "Digital Engagement Lead",
    "Analyst",
    "Operations Manager",
    "Caseworker",
    "Team Leader",
    "Investigator",
]
PURPOSES = [
    "Monitor public discussion of visa policy to brief ministers each week.",
    "Answer questions from the public about passport applications during the busy season.",
    "Publish recruitment campaigns for border officers and reply to applicants.",
    "Follow stakeholder organisations to spot emerging issues with the asylum system.",
    "Run the directorate's official account: announcements, replies and live events.",
]
AUDIENCES = [
    "Members of the public and stakeholder organisations.",
    "Journalists, charities and community groups.",
    "Prospective applicants and their advisers.",
]
INTEGRATIONS = [
    "Feeds the weekly communications plan and the press office grid.",
    "Supports the campaign run with the digital team.",
    "Complements the published guidance on GOV.UK.",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
]
